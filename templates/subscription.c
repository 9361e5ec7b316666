/* Bundled template `subscription`: subscriptions (access for the paid period); the template
 * also checks the end of access against the clock.
 * Identical in every capsule that carries it; the body is templates/template_core.h. */
#define TEMPLATE_MODELS (MODEL_SUBSCRIPTION)
#include "template_core.h"
