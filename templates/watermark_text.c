/* Bundled template `watermark-text`: text with the licensee's address woven in: a mark line first
 * and after every ~4 KiB (see template_core.h); any model.
 * Identical in every capsule that carries it; the body is templates/template_core.h. */
#define TEMPLATE_MODELS (MODEL_ALL)
#define TEMPLATE_WATERMARK 1
#include "template_core.h"
