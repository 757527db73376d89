using System.Diagnostics.Metrics;


namespace Tempo.Functional.Tests.Server;

/// <summary>The server's System.Diagnostics.Metrics instruments: what dotnet-counters and OpenTelemetry read.</summary>
public sealed class InstrumentsTests
{
    [Fact]
    public async Task Instruments_CountTheSameTrafficAsThePrometheusText()
    {
        await using var f = await ServerFixture.Start();
        var meter = f.Server.Instruments.Meter;
        var totals = new Dictionary<string, double>(StringComparer.Ordinal);
        var gate = new Lock();
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (ReferenceEquals(instrument.Meter, meter))
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        void Add(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            var key = instrument.Name + string.Concat(tags.ToArray().Select(t => $"|{t.Key}={t.Value}"));
            lock (gate)
            {
                totals[key] = totals.GetValueOrDefault(key) + value;
                totals[instrument.Name + "#"] = totals.GetValueOrDefault(instrument.Name + "#") + 1;
            }
        }

        listener.SetMeasurementEventCallback<long>((i, v, t, _) => Add(i, v, t));
        listener.SetMeasurementEventCallback<double>((i, v, t, _) => Add(i, v, t));
        listener.SetMeasurementEventCallback<int>((i, v, t, _) => Add(i, v, t));
        listener.Start();

        foreach (var maxTokens in new[] { 3, 5 })
        {
            Assert.Equal(200, (await f.Post("v1/chat/completions", ServerFixture.ChatBody(maxTokens))).Status);
        }

        await f.Post("v1/chat/completions", "{oops");
        var m = await f.Metrics();
        listener.RecordObservableInstruments();

        var model = $"model_name=\"{f.Model}\"";
        lock (gate)
        {
            Assert.Equal(m[$"vllm:generation_tokens_total{{{model}}}"], totals["tempo.server.generation_tokens"]);
            Assert.Equal(m[$"vllm:prompt_tokens_total{{{model}}}"], totals["tempo.server.prompt_tokens"]);
            Assert.Equal(2, totals["tempo.server.time_to_first_token#"]);
            Assert.Equal(2 + 4, totals["tempo.server.inter_token_latency#"]);
            Assert.Equal(2, totals["tempo.server.request_latency#"]);
            Assert.Equal(2, totals["tempo.server.requests.accepted"]);
            Assert.Equal(1, totals["tempo.server.requests.refused|reason=invalid"]);
            Assert.Equal(2, totals["tempo.server.requests.ended|reason=length"]);
            Assert.Equal(m["tempo_slo_attained_total{class=\"latency\"}"], totals.GetValueOrDefault("tempo.server.slo.attained|class=latency"));
            Assert.Equal(m["tempo_service_gain_total{class=\"latency\"}"], totals.GetValueOrDefault("tempo.server.service_gain|class=latency"));
            Assert.Equal(0, totals["tempo.server.requests.running"]);
            Assert.True(totals["tempo.server.engine.steps"] > 0);
        }
    }
}
