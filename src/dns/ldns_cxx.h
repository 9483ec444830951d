// Include ldns through this header from C++. ldns's common.h defines `bool`, `true` and `false`
// as macros unless stdbool.h came first, which breaks C++ headers included after it
// (std::optional's operator<=> among them). stdbool.h in C++ only marks them as defined.
#pragma once

#include <stdbool.h>

#include <ldns/ldns.h>
