/* a stage that uses another stage's header */
#include "a.h"
int b_bad(void) { return a_three(); }
