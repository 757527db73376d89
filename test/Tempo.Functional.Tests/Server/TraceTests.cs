using Tempo.Engine;
using Tempo.Scheduling;
using Tempo.Simulation.Fidelity;

namespace Tempo.Functional.Tests.Server;

/// <summary>
/// <c>tempo serve --step-log</c> writes a trace from which the run can be replayed decision by decision: the server's
/// own threads, wall clock and HTTP path in the loop, and the replay still plans every step the server planned.
/// </summary>
public sealed class TraceTests
{
    [Theory]
    [InlineData("tempo")]
    [InlineData("sarathi")]
    public async Task ServedRun_ReplaysStepForStep(string policy)
    {
        var path = Path.Combine(Path.GetTempPath(), $"tempo-trace-{Guid.NewGuid():N}.jsonl");
        try
        {
            await using (var f = await ServerFixture.Start(o => o with { Policy = policy, StepLogPath = path }))
            {
                var calls = Enumerable.Range(0, 12).Select(i => f.Post("v1/chat/completions", ServerFixture.ChatBody(
                    maxTokens: 6 + (i * 3),
                    extra: i % 2 == 0 ? ""","slo":{"class":"latency","ttft_ms":2000,"tbt_ms":200}""" : ""","slo":{"class":"throughput","deadline_ms":20000}""")));
                var answers = await Task.WhenAll(calls);
                Assert.All(answers, a => Assert.Equal(200, a.Status));
            }

            var trace = StepTrace.Read(path);
            var result = TraceReplay.Run(trace, PolicyRegistry.Get(policy).Create(new SchedulerOptions { Engine = trace.Engine }));

            Assert.Equal(policy, trace.Policy);
            Assert.Equal(12, trace.Events.OfType<TraceArrival>().Count());
            Assert.Equal(12, trace.Events.OfType<TraceEnd>().Count());
            Assert.Null(result.First);
            Assert.True(result.Steps > 0);
            Assert.Equal(result.Steps, result.StepsMatched);
            Assert.Empty(result.EndMismatches);
            Assert.Equal(12, result.Records.Count);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
