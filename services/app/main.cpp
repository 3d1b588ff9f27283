#include <cstdio>

int main() {
    std::puts("pavewatch");
    return 0;
}
