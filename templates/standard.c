/* Bundled template `standard`: a capsule offering several model families (e.g. buy and
 * rental): each model's rules as in its own template.
 * Identical in every capsule that carries it; the body is templates/template_core.h. */
#define TEMPLATE_MODELS (MODEL_ALL)
#include "template_core.h"
