using Tempo.Core;
using Tempo.LoadGen;
using Tempo.TestSupport;

namespace Tempo.Functional.Tests.LoadGen;

/// <summary>The bench tells success from failure as a careful client would.</summary>
public sealed class CarefulClientTests
{
    [Fact]
    public async Task ErrorFieldMidStreamThenDone_IsAFailureNotASuccess()
    {
        await using var server = await FakeOpenAiServer.StartAsync();
        server.ErrorEventAfter = 2;

        var result = await new LoadGenerator().RunAsync(Specs.Of(Specs.Latency(1, 0, output: 6)), Specs.Options(server.Url));

        var r = Assert.Single(result.Records);
        Assert.Equal(FinishReason.Aborted, r.Reason);
        Assert.Contains("exceeds the available context", r.Detail, StringComparison.Ordinal);
        Assert.Equal(0, result.Metrics.Total.SloMet);
        Assert.Equal(0, result.Metrics.Total.ServiceGain);
        Assert.Equal(1, result.ErrorsByKind["server error"]);
    }

    [Fact]
    public async Task NamedErrorEventThenDone_IsAFailure()
    {
        await using var server = await FakeOpenAiServer.StartAsync();
        server.NamedErrorEventAfter = 1;

        var result = await new LoadGenerator().RunAsync(Specs.Of(Specs.Latency(1, 0, output: 4)), Specs.Options(server.Url));

        var r = Assert.Single(result.Records);
        Assert.Equal(FinishReason.Aborted, r.Reason);
        Assert.Contains("engine failed", r.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task StreamEndingBeforeAnyFinish_IsIncomplete()
    {
        await using var server = await FakeOpenAiServer.StartAsync();
        server.TruncateAfter = 3;

        var result = await new LoadGenerator().RunAsync(Specs.Of(Specs.Latency(1, 0, output: 8)), Specs.Options(server.Url));

        var r = Assert.Single(result.Records);
        Assert.Equal(FinishReason.Aborted, r.Reason);
        Assert.Equal(1, result.ErrorsByKind["stream incomplete"]);
        Assert.Equal(0, result.Metrics.Total.SloMet);
    }

    [Fact]
    public async Task SendFailingBeforeAnyResponse_IsRetriedOnceOnAFreshConnectionAndCountedApart()
    {
        await using var server = await FakeOpenAiServer.StartAsync();
        using var handler = new FailingSends(new SocketsHttpHandler { UseProxy = false }, failuresPerRequest: 1);

        var result = await new LoadGenerator(handler).RunAsync(Specs.Of(Specs.Latency(1, 0, output: 3), Specs.Latency(2, 0.01, output: 4)), Specs.Options(server.Url));

        Assert.All(result.Records, r => Assert.Equal(FinishReason.Length, r.Reason));
        Assert.Equal(2, result.RetriedOnFreshConnection);
        Assert.Empty(result.ErrorsByKind);
        Assert.Equal(2, server.Served.Count); // the failed sends never reached the server; nothing was sent twice
    }

    [Fact]
    public async Task SendFailingOnTheFreshConnectionToo_IsAFailure_AndNotRetriedAgain()
    {
        await using var server = await FakeOpenAiServer.StartAsync();
        using var handler = new FailingSends(new SocketsHttpHandler { UseProxy = false }, failuresPerRequest: 5);

        var result = await new LoadGenerator(handler).RunAsync(Specs.Of(Specs.Latency(1, 0, output: 3)), Specs.Options(server.Url));

        var r = Assert.Single(result.Records);
        Assert.Equal(FinishReason.Aborted, r.Reason);
        Assert.Equal(1, result.RetriedOnFreshConnection);
        Assert.Equal(1, result.ErrorsByKind["connection error"]);
        Assert.Equal(2, handler.Attempts); // the first send and one retry
        Assert.Empty(server.Served);
    }

    /// <summary>
    /// Fails the first <c>failuresPerRequest</c> sends of every generation request the way a lost connection does (a
    /// connection error before any response).
    /// </summary>
    private sealed class FailingSends(HttpMessageHandler inner, int failuresPerRequest) : DelegatingHandler(inner)
    {
        private readonly Dictionary<string, int> _failed = [];

        /// <summary>Generation requests sent, failed or not.</summary>
        public int Attempts { get; private set; }

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (request.Method == HttpMethod.Post)
            {
                var body = await request.Content!.ReadAsStringAsync(cancellationToken);
                lock (_failed)
                {
                    Attempts++;
                    var failed = _failed.GetValueOrDefault(body);
                    if (failed < failuresPerRequest)
                    {
                        _failed[body] = failed + 1;
                        throw new HttpRequestException(HttpRequestError.ConnectionError, "An error occurred while sending the request.", new IOException("connection reset by peer"));
                    }
                }
            }

            return await base.SendAsync(request, cancellationToken);
        }
    }
}
