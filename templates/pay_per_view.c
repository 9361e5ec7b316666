/* Bundled template `pay-per-view`: pay-per-view; the host counts the play before any byte is
 * released and the template serves only while the terms leave a play.
 * Identical in every capsule that carries it; the body is templates/template_core.h. */
#define TEMPLATE_MODELS (MODEL_PAY_PER_VIEW)
#include "template_core.h"
