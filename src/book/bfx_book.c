/* placeholder: being written */
typedef int mdf_placeholder_src_book_bfx_book_c;
