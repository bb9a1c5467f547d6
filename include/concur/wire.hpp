// concur::wire: how a value, a call and an exception cross a process boundary
// (to a multiprocessing worker, an MPI rank). See wire/call.hpp for calls,
// wire/codec.hpp for what may cross, wire/frame.hpp for the framing.
#pragma once

#include "concur/errors.hpp"
#include "concur/wire/call.hpp"
#include "concur/wire/codec.hpp"
#include "concur/wire/frame.hpp"
#include "concur/wire/function.hpp"
#include "concur/wire/handles.hpp"
