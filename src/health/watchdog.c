/* placeholder: being written */
typedef int mdf_placeholder_src_health_watchdog_c;
