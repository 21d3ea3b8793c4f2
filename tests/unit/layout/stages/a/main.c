#include "a.h"
int main(void) { return a_three() == 3 ? 0 : 1; }
