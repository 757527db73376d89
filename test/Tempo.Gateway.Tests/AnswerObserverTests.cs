using System.Text;

using Tempo.Core;

namespace Tempo.Gateway.Tests;

public class AnswerObserverTests
{
    private static readonly RequestSpec Stream = new()
    {
        Id = 1,
        ArrivalS = 0,
        Class = RequestClass.Latency,
        Slo = new Slo(1, 0.5, 10),
        PromptTokens = 10,
        OutputTokens = 3,
    };

    private static string Chunk(string content, string? finish = null) =>
        $$"""data: {"choices":[{"index":0,"delta":{"content":"{{content}}"},"finish_reason":{{(finish is null ? "null" : $"\"{finish}\"")}}}]}""" + "\n\n";

    [Fact]
    public void Stream_EachEventWithTextIsATokenAtTheTimeItPassed_EvenSplitAcrossWrites()
    {
        var now = 0.0;
        var observer = new AnswerObserver(stream: true, () => now);
        var bytes = Encoding.UTF8.GetBytes(Chunk("") + Chunk("a") + Chunk("b") + Chunk("c", "length") + "data: [DONE]\n\n");

        // Written in pieces of 7 bytes, the clock moving 0.1 s per piece.
        for (var i = 0; i < bytes.Length; i += 7)
        {
            now += 0.1;
            observer.Observe(bytes.AsSpan(i, Math.Min(7, bytes.Length - i)));
        }

        var record = observer.Complete(Stream, arrivalS: 0);
        Assert.Equal(3, record.TokenTimesS.Count);
        Assert.True(record.TokenTimesS[0] < record.TokenTimesS[1] && record.TokenTimesS[1] < record.TokenTimesS[2]);
        Assert.Equal(FinishReason.Length, record.Reason);
    }

    [Fact]
    public void Stream_WithoutAFinishReason_OrWithAnErrorEvent_DidNotFinish()
    {
        var cut = new AnswerObserver(stream: true, () => 1);
        cut.Observe(Encoding.UTF8.GetBytes(Chunk("a")));
        Assert.Equal(FinishReason.Aborted, cut.Complete(Stream, 0).Reason);

        var broken = new AnswerObserver(stream: true, () => 1);
        broken.Observe(Encoding.UTF8.GetBytes(Chunk("a") + """data: {"error":{"message":"replica failed"}}""" + "\n\n" + Chunk("", "stop")));
        Assert.Equal(FinishReason.Aborted, broken.Complete(Stream, 0).Reason);
    }

    [Fact]
    public void PlainAnswer_CountsItsUsage_AllTokensWhenTheBodyEnded()
    {
        var now = 0.0;
        var observer = new AnswerObserver(stream: false, () => now);
        observer.Observe("""{"choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}],"""u8);
        now = 2;
        observer.Observe(""" "usage":{"prompt_tokens":10,"completion_tokens":5}}"""u8);

        var record = observer.Complete(Stream, arrivalS: 0);
        Assert.Equal(FinishReason.Stop, record.Reason);
        Assert.Equal([2.0, 2, 2, 2, 2], record.TokenTimesS);
    }

    [Fact]
    public void UsageBeyondTheStreamedEvents_CountsTheRestAtTheLastEvent()
    {
        var now = 0.0;
        var observer = new AnswerObserver(stream: true, () => now += 1);
        observer.Observe(Encoding.UTF8.GetBytes(Chunk("ab") + Chunk("", "stop") + """data: {"choices":[],"usage":{"completion_tokens":4}}""" + "\n\ndata: [DONE]\n\n"));

        Assert.Equal([1.0, 1, 1, 1], observer.Complete(Stream, 0).TokenTimesS);
    }

    [Fact]
    public void GarbageAndOversizedLines_AreNotScoredAsFinished_AndDoNotThrow()
    {
        var garbage = new AnswerObserver(stream: true, () => 1);
        garbage.Observe("data: {not json\n\ndata: [1,2]\n\n: comment\n\n"u8);
        Assert.Equal(FinishReason.Aborted, garbage.Complete(Stream, 0).Reason);

        var huge = new AnswerObserver(stream: false, () => 1);
        var block = new byte[1024 * 1024];
        for (var i = 0; i < 5; i++)
        {
            huge.Observe(block);
        }

        Assert.Equal(FinishReason.Aborted, huge.Complete(Stream, 0).Reason);
    }
}
