#include "core.h"
int core_one(void) { return 1; }
