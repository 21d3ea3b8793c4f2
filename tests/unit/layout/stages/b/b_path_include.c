/* a stage that reaches into a private folder of an engine by path */
#include "../../common/engine/engine_private.h"
int b_bad(void) { return engine_private(); }
