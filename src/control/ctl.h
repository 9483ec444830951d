// `pharos ctl`: the control API's command-line client.
//
//   pharos ctl [--config FILE | --socket PATH | --address HOST:PORT] [--token T] [--json] COMMAND
//     status | checks | reload
//     override up|down|drain (--check NAME | --record ID --value V) [--for DUR | --until TIME] [--reason TEXT]
//     override list | override clear ID
#pragma once

#include <iostream>
#include <string>
#include <vector>

namespace pharos::control {

// Exit codes.
inline constexpr int kCtlOk = 0;
inline constexpr int kCtlServerError = 1;  // the server answered with an error (its message is printed)
inline constexpr int kCtlUsage = 2;        // bad arguments, or a config without a control section
inline constexpr int kCtlNoConnection = 3; // could not connect or got no answer (says where it tried)

// `args` are the words after "ctl". The token comes from --token, else $PHAROS_TOKEN, else the
// config given with --config. Output goes to `out`, messages to `err`.
int run_ctl(const std::vector<std::string>& args, std::ostream& out = std::cout, std::ostream& err = std::cerr);

}  // namespace pharos::control
