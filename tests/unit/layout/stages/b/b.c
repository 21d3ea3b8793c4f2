#include "b.h"
#include "core.h"
#include "engine.h"
int b_four(void) { return engine_two() + core_one() + 1; }
