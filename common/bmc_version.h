/* bmc_version.h — the project's version and the git commit it was built from.
 * The definitions are generated at configure time (cmake/BmcVersion.cmake). */
#ifndef BMC_VERSION_H
#define BMC_VERSION_H
const char *bmc_version(void);    /* "0.1.0"                         */
const char *bmc_git_commit(void); /* short commit hash, or "unknown" */
#endif
