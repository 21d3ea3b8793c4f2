int engine_two(void);
