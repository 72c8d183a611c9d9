/* placeholder: being written */
typedef int mdf_placeholder_src_daemon_notify_c;
