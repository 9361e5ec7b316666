/* Bundled template `free-with-ads`: free content after an ad: serves the content only when the
 * host says the ad capsule played first ("ad_played":true).
 * Identical in every capsule that carries it; the body is templates/template_core.h. */
#define TEMPLATE_MODELS (MODEL_FREE_WITH_ADS)
#include "template_core.h"
