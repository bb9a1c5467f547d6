#include <concur/concur.hpp>

#include <cstdio>

int main() {
    concur::futures::ThreadPoolExecutor ex{{.max_workers = 2}};
    auto f = ex.submit([](int a, int b) { return a + b; }, 40, 2);
    std::printf("consumer: %d\n", f.result());
    return f.result() == 42 ? 0 : 1;
}
