#include "a.h"
#include "engine.h"
int a_three(void) { return engine_two() + 1; }
