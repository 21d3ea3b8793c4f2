#include "a.h"
#include "core.h"
int a_three(void) { return core_one() + 2; }
