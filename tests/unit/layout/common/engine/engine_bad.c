/* a common library that reaches into a stage */
#include "a.h"
int engine_bad(void) { return a_three(); }
