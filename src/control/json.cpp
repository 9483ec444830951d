// Boost.JSON, header-only: its implementation is compiled here, once for the whole program.
#include <boost/json/src.hpp>
