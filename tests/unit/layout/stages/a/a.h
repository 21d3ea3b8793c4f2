int a_three(void);
