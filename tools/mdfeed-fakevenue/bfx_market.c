/* placeholder: being written */
typedef int mdf_placeholder_tools_mdfeed_fakevenue_bfx_market_c;
