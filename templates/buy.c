/* Bundled template `buy`: bought or resold copies (perpetual access); the preview to
 * everyone else.
 * Identical in every capsule that carries it; the body is templates/template_core.h. */
#define TEMPLATE_MODELS (MODEL_BUY | MODEL_RESALE)
#include "template_core.h"
