// The asyncio examples: the echo and chat servers and their clients, and
// seed 002's downloads on asyncio::http::ClientSession.
#include <gtest/gtest.h>

#include "support.hpp"

using namespace examples_test;

TEST(AsyncioEcho, ClientGetsItsMessageBackAndCtrlCStopsTheServer) {
    BackgroundExample server(EXAMPLE_ASYNCIO_ECHO_SERVER, {"0"});
    std::string serving = server.read_line();
    ASSERT_EQ(serving.rfind("Serving on 127.0.0.1:", 0), 0u) << serving;
    std::string port = BackgroundExample::port_of(serving);

    Outcome c = run_example(EXAMPLE_ASYNCIO_ECHO_CLIENT, {port, "hello concur"});
    ASSERT_TRUE(c.exited && c.exit_code == 0) << describe(c);
    EXPECT_EQ(lines(c.out), (std::vector<std::string>{"Send: 'hello concur'", "Received: 'hello concur'",
                                                      "Close the connection"}));
    EXPECT_EQ(server.read_line().rfind("Received hello concur from 127.0.0.1:", 0), 0u);
    EXPECT_EQ(server.read_line(), "Send: hello concur");
    EXPECT_EQ(server.read_line(), "Close the connection");

    Outcome s = server.stop();
    EXPECT_TRUE(s.exited && s.exit_code == 0) << describe(s);
    EXPECT_NE(s.out.find("KeyboardInterrupt: server stopped"), std::string::npos) << describe(s);
}

TEST(AsyncioEcho, RefusedConnectionIsAClearError) {
    // Port 1 on loopback: nothing listens there.
    Outcome c = run_example(EXAMPLE_ASYNCIO_ECHO_CLIENT, {"1"});
    EXPECT_TRUE(c.exited && c.exit_code == 1) << describe(c);
    EXPECT_NE(c.err.find("ConnectionRefusedError"), std::string::npos) << describe(c);
}

TEST(AsyncioChat, LinesGoToTheOtherClients) {
    BackgroundExample server(EXAMPLE_ASYNCIO_CHAT_SERVER, {"0"});
    std::string serving = server.read_line();
    ASSERT_EQ(serving.rfind("Serving on 127.0.0.1:", 0), 0u) << serving;
    int port = std::stoi(BackgroundExample::port_of(serving));

    LineClient alice(port), bob(port);
    EXPECT_EQ(alice.read_until("? "), "name? ");
    alice.send_line("alice");
    EXPECT_EQ(server.read_line(), "alice joined");  // alice is registered before bob joins
    EXPECT_EQ(bob.read_until("? "), "name? ");
    bob.send_line("bob");
    EXPECT_EQ(alice.read_until("\n"), "* bob joined\n");
    bob.send_line("hi alice");
    EXPECT_EQ(alice.read_until("\n"), "bob: hi alice\n");
    alice.send_line("hi bob");
    EXPECT_EQ(bob.read_until("\n"), "alice: hi bob\n");

    // Ctrl-C with both still connected: the server closes them and exits.
    Outcome s = server.stop();
    EXPECT_TRUE(s.exited && s.exit_code == 0) << describe(s);
    EXPECT_NE(s.out.find("bob joined"), std::string::npos) << describe(s);
    EXPECT_NE(s.out.find("server stopped"), std::string::npos) << describe(s);
}

TEST(Seed002Asyncio, DownloadsEveryPageWithATaskEach) {
    TestHttpServer server;
    std::vector<std::string> urls = server.pages(20);
    Outcome o = run_example(EXAMPLE_SEED002_DOWNLOAD_ASYNCIO, urls);
    ASSERT_TRUE(o.exited && o.exit_code == 0) << describe(o);
    auto out = lines(o.out);
    ASSERT_EQ(out.size(), 21u) << describe(o);
    EXPECT_TRUE(is_timing_line(out.back(), "Downloaded 20 sites in ", " seconds")) << out.back();
    out.pop_back();
    std::vector<std::string> want;
    for (int i = 0; i < 20; ++i)  // aiohttp's content_length: None for a chunked page
        want.push_back("Read " + (i % 2 ? std::string("None") : std::to_string(TestHttpServer::kBodySize)) +
                       " from " + urls[static_cast<std::size_t>(i)]);
    std::sort(out.begin(), out.end());
    std::sort(want.begin(), want.end());
    EXPECT_EQ(out, want);
    EXPECT_EQ(server.requests(), 20);
}

TEST(Seed002Asyncio, AFailedDownloadIsReportedNotHidden) {
    TestHttpServer server;
    std::string good = server.url("/fixed/1");
    Outcome o = run_example(EXAMPLE_SEED002_DOWNLOAD_ASYNCIO, {good, "http://127.0.0.1:1/x"});
    EXPECT_TRUE(o.exited && o.exit_code == 1) << describe(o);
    EXPECT_NE(o.err.find("http://127.0.0.1:1/x"), std::string::npos) << describe(o);
    EXPECT_NE(o.out.find("Read 5000 from " + good), std::string::npos) << describe(o);
}

TEST(Seed002Asyncio, NoUrlDownloadsTheSeedSitesFromTheLocalServer) {
    expect_the_seed_sites(run_example(EXAMPLE_SEED002_DOWNLOAD_ASYNCIO, {}), "Downloaded 160 sites in ", true);
}
