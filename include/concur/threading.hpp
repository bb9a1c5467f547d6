// concur::threading — Python's `threading` module.
//
//   Python                           concur::threading
//   ------                           -----------------
//   Thread(target=f, args=(x,))      Thread t(f, x);
//   Thread(target=f, name="w",       Thread t({.name = "w", .daemon = true}, f);
//          daemon=True)
//   class T(Thread): def run(self)   class T : public Thread { void run() override; };
//   t.start(); t.join(timeout=1)     t.start(); t.join(1s);
//   with lock: ...                   std::lock_guard g(lock); / std::scoped_lock
//   lock.acquire(timeout=0.5)        lock.acquire(500ms)
//   cond.wait_for(pred, timeout=1)   cond.wait_for(pred, 1s)
//   event.wait(2)                    event.wait(2s)
//   Barrier(3, action=f)             Barrier b(3, f);
//   Timer(2.0, f).start()            Timer t(2s, f); t.start();
//   data = threading.local()         threading::local<Data> data;
//   data.x = 1; hasattr(data, "x")   data->x = 1; data.has_value()
//
// There is no GIL: threads run in parallel, so shared data needs a lock in
// C++ where Python's GIL sometimes hid the need.
#pragma once

#include "concur/errors.hpp"
#include "concur/threading/barrier.hpp"
#include "concur/threading/condition.hpp"
#include "concur/threading/event.hpp"
#include "concur/threading/local.hpp"
#include "concur/threading/lock.hpp"
#include "concur/threading/semaphore.hpp"
#include "concur/threading/thread.hpp"
#include "concur/threading/timer.hpp"
