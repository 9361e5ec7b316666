# Builds the bundled capsule templates (templates/*.c, one module per business model; the shared
# body is templates/template_core.h) to wasm32 with clang-14/wasm-ld-14, validates each with wabt,
# optimises it with Binaryen (wasm-opt) and validates the result again; then embeds the bytes as
# C++ arrays in the `capsule_templates` library (templates/registry.h). Each template's SHA-256
# is checked against templates/templates.sha256: the same pinned toolchain gives the same bytes
# (DESIGN §9.11); a change is reported loudly (and fails the build_facts test).
find_program(CAPSULE_CLANG NAMES clang-14 REQUIRED)
find_program(CAPSULE_WASM_LD NAMES wasm-ld-14 REQUIRED)
find_program(CAPSULE_WASM_OPT NAMES wasm-opt REQUIRED)
find_program(CAPSULE_WASM_VALIDATE NAMES wasm-validate REQUIRED)

set(CAPSULE_TEMPLATE_DIR ${PROJECT_BINARY_DIR}/templates)
set(CAPSULE_TEMPLATE_BLOB_CC ${CAPSULE_TEMPLATE_DIR}/template_blob.cc)
# Guest build flags (also what `capsulec logic build` uses): no libc, no entry point, memory
# with a fixed maximum (the runtime refuses memories without one), no debug info.
set(CAPSULE_GUEST_CFLAGS --target=wasm32 -O2 -nostdlib -ffreestanding -fno-builtin
    -fdebug-prefix-map=${PROJECT_SOURCE_DIR}=. -Wall -Wextra -Werror)
set(CAPSULE_GUEST_LDFLAGS --no-entry --strip-all --export-dynamic -z stack-size=16384
    --initial-memory=131072 --max-memory=131072)

# name=source (the name is what `inspect`, `pack --template` and the docs use).
set(CAPSULE_TEMPLATES buy=buy pay-per-view=pay_per_view rental=rental subscription=subscription
    free=free free-with-ads=free_with_ads standard=standard watermark-text=watermark_text)
set(_wasms)
set(_names)
foreach(pair ${CAPSULE_TEMPLATES})
  string(REPLACE "=" ";" pair "${pair}")
  list(GET pair 0 name)
  list(GET pair 1 src)
  set(out ${CAPSULE_TEMPLATE_DIR}/${src})
  add_custom_command(
    OUTPUT ${out}.wasm
    COMMAND ${CMAKE_COMMAND} -E make_directory ${CAPSULE_TEMPLATE_DIR}
    COMMAND ${CAPSULE_CLANG} ${CAPSULE_GUEST_CFLAGS} -I${PROJECT_SOURCE_DIR}/templates
            -c ${PROJECT_SOURCE_DIR}/templates/${src}.c -o ${out}.o
    COMMAND ${CAPSULE_WASM_LD} ${CAPSULE_GUEST_LDFLAGS} ${out}.o -o ${out}.unopt
    COMMAND ${CAPSULE_WASM_VALIDATE} ${out}.unopt
    COMMAND ${CAPSULE_WASM_OPT} -O2 --strip-debug --strip-producers --enable-mutable-globals
            ${out}.unopt -o ${out}.wasm
    COMMAND ${CAPSULE_WASM_OPT} ${out}.wasm -o /dev/null  # Binaryen validates by default
    COMMAND ${CAPSULE_WASM_VALIDATE} ${out}.wasm
    DEPENDS ${PROJECT_SOURCE_DIR}/templates/${src}.c ${PROJECT_SOURCE_DIR}/templates/template_core.h
            ${PROJECT_SOURCE_DIR}/templates/capsule_v1.h
    COMMENT "Building the capsule template ${name} (clang-14 → wasm32 → Binaryen)"
    VERBATIM)
  list(APPEND _wasms ${out}.wasm)
  list(APPEND _names "${name}=${src}")
endforeach()

add_custom_command(
  OUTPUT ${CAPSULE_TEMPLATE_BLOB_CC}
  COMMAND ${CMAKE_COMMAND} "-DTEMPLATES=${_names}" -DDIR=${CAPSULE_TEMPLATE_DIR}
          -DOUT=${CAPSULE_TEMPLATE_BLOB_CC}
          -DEXPECTED_FILE=${PROJECT_SOURCE_DIR}/templates/templates.sha256
          -P ${PROJECT_SOURCE_DIR}/cmake/EmbedTemplate.cmake
  DEPENDS ${_wasms} ${PROJECT_SOURCE_DIR}/cmake/EmbedTemplate.cmake
          ${PROJECT_SOURCE_DIR}/templates/templates.sha256
  COMMENT "Embedding the capsule templates"
  VERBATIM)
add_custom_target(capsule_template DEPENDS ${CAPSULE_TEMPLATE_BLOB_CC})

add_library(capsule_templates STATIC ${PROJECT_SOURCE_DIR}/templates/registry.cc
                                     ${CAPSULE_TEMPLATE_BLOB_CC})
add_dependencies(capsule_templates capsule_template)
target_link_libraries(capsule_templates PUBLIC capsule_format)
