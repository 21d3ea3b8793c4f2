/* a stage that uses an engine's private header by its bare name */
#include "engine_private.h"
int b_bad(void) { return engine_private(); }
