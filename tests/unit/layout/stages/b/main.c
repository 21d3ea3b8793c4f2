#include "b.h"
int main(void) { return b_four() == 4 ? 0 : 1; }
