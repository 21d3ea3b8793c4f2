#include "core.h"
#include "engine.h"
#include "engine_private.h"
int engine_private(void) { return 1; }
int engine_two(void) { return core_one() + engine_private(); }
