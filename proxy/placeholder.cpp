namespace pgs { int placeholder_symbol = 0; }
