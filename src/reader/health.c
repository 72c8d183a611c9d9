/* placeholder: being written */
typedef int mdf_placeholder_src_reader_health_c;
