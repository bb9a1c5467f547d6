// Everything in concur's core: concurrent.futures, threading, queue.
#pragma once

#include "concur/errors.hpp"
#include "concur/futures.hpp"
#include "concur/queue.hpp"
#include "concur/threading.hpp"
