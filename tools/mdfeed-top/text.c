/* placeholder: being written */
typedef int mdf_placeholder_tools_mdfeed_top_text_c;
