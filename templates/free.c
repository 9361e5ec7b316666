/* Bundled template `free`: free content (the content key is published in the manifest).
 * Identical in every capsule that carries it; the body is templates/template_core.h. */
#define TEMPLATE_MODELS (MODEL_FREE)
#include "template_core.h"
