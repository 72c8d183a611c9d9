/* placeholder: being written */
typedef int mdf_placeholder_src_venue_bitfinex_c;
