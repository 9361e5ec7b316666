/* Bundled template `rental`: rentals (a fixed period, optionally from the first play, which
 * the host records); the template also checks the end of access against the clock.
 * Identical in every capsule that carries it; the body is templates/template_core.h. */
#define TEMPLATE_MODELS (MODEL_RENTAL)
#include "template_core.h"
