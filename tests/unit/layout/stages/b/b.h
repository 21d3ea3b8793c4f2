int b_four(void);
