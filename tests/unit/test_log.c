/* test_log.c — progress line arithmetic (rate, percentage, ETA) and timestamp format. */
#include <string.h>

#include "bmc_log.h"
#include "bmc_test.h"

int main(void) {
    bmc_log_init("test_log", BMC_LOG_INFO);
    bmc_progress p;
    bmc_progress_start(&p, "extract", "images", 1000);
    char line[256];
    /* 250 of 1000 after 10 s: 25 images/s, 750 left → 30 s. */
    bmc_progress_format(&p, 250, p.t_start + 10.0, line, sizeof line);
    TEST_STREQ(line, "extract: 250/1000 images (25.0%), 25 images/s, ETA 0:00:30");
    /* Nothing done yet: unknown ETA, no division by zero. */
    bmc_progress_format(&p, 0, p.t_start, line, sizeof line);
    TEST_STREQ(line, "extract: 0/1000 images (0.0%), 0 images/s, ETA ?");
    /* Hours in the ETA. */
    bmc_progress_format(&p, 1, p.t_start + 10.0, line, sizeof line);
    TEST_STREQ(line, "extract: 1/1000 images (0.1%), 0.1 images/s, ETA 2:46:30");
    char ts[32];
    bmc_utc_timestamp(ts, sizeof ts);
    TEST_CHECK(strlen(ts) == 20 && ts[4] == '-' && ts[10] == 'T' && ts[19] == 'Z', "timestamp %s", ts);
    return test_summary();
}
