int core_one(void);
