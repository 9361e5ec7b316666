# Builds the bundled capsule template (templates/default.c) to wasm32 with clang-14/wasm-ld-14,
# validates it with wabt, optimises it with Binaryen (wasm-opt) and validates the result again;
# then embeds the bytes into the packager as a C++ array. The template's SHA-256 is checked
# against templates/default.wasm.sha256: the same pinned toolchain gives the same bytes
# (DESIGN §9.11); a change is reported loudly (and fails the `template_hash` test).
find_program(CAPSULE_CLANG NAMES clang-14 REQUIRED)
find_program(CAPSULE_WASM_LD NAMES wasm-ld-14 REQUIRED)
find_program(CAPSULE_WASM_OPT NAMES wasm-opt REQUIRED)
find_program(CAPSULE_WASM_VALIDATE NAMES wasm-validate REQUIRED)

set(CAPSULE_TEMPLATE_DIR ${PROJECT_BINARY_DIR}/templates)
set(CAPSULE_TEMPLATE_WASM ${CAPSULE_TEMPLATE_DIR}/default.wasm)
set(CAPSULE_TEMPLATE_BLOB_CC ${CAPSULE_TEMPLATE_DIR}/template_blob.cc)
# Guest build flags (also what `capsulec logic build` will use): no libc, no entry point, memory
# with a fixed maximum (the runtime refuses memories without one), no debug info.
set(CAPSULE_GUEST_CFLAGS --target=wasm32 -O2 -nostdlib -ffreestanding -fno-builtin
    -fdebug-prefix-map=${PROJECT_SOURCE_DIR}=. -Wall -Wextra -Werror)
set(CAPSULE_GUEST_LDFLAGS --no-entry --strip-all --export-dynamic -z stack-size=16384
    --initial-memory=131072 --max-memory=131072)

add_custom_command(
  OUTPUT ${CAPSULE_TEMPLATE_WASM} ${CAPSULE_TEMPLATE_BLOB_CC}
  COMMAND ${CMAKE_COMMAND} -E make_directory ${CAPSULE_TEMPLATE_DIR}
  COMMAND ${CAPSULE_CLANG} ${CAPSULE_GUEST_CFLAGS} -I${PROJECT_SOURCE_DIR}/templates
          -c ${PROJECT_SOURCE_DIR}/templates/default.c -o ${CAPSULE_TEMPLATE_DIR}/default.o
  COMMAND ${CAPSULE_WASM_LD} ${CAPSULE_GUEST_LDFLAGS} ${CAPSULE_TEMPLATE_DIR}/default.o
          -o ${CAPSULE_TEMPLATE_DIR}/default.raw.wasm
  COMMAND ${CAPSULE_WASM_VALIDATE} ${CAPSULE_TEMPLATE_DIR}/default.raw.wasm
  COMMAND ${CAPSULE_WASM_OPT} -O2 --strip-debug --strip-producers --enable-mutable-globals
          ${CAPSULE_TEMPLATE_DIR}/default.raw.wasm -o ${CAPSULE_TEMPLATE_WASM}
  COMMAND ${CAPSULE_WASM_OPT} ${CAPSULE_TEMPLATE_WASM} -o /dev/null  # Binaryen validates by default
  COMMAND ${CAPSULE_WASM_VALIDATE} ${CAPSULE_TEMPLATE_WASM}
  COMMAND ${CMAKE_COMMAND} -DWASM=${CAPSULE_TEMPLATE_WASM} -DOUT=${CAPSULE_TEMPLATE_BLOB_CC}
          -DEXPECTED_FILE=${PROJECT_SOURCE_DIR}/templates/default.wasm.sha256
          -P ${PROJECT_SOURCE_DIR}/cmake/EmbedTemplate.cmake
  DEPENDS ${PROJECT_SOURCE_DIR}/templates/default.c ${PROJECT_SOURCE_DIR}/templates/capsule_v1.h
          ${PROJECT_SOURCE_DIR}/cmake/EmbedTemplate.cmake
  COMMENT "Building the capsule template (clang-14 → wasm32 → Binaryen)"
  VERBATIM)
add_custom_target(capsule_template DEPENDS ${CAPSULE_TEMPLATE_BLOB_CC})
