namespace Tempo.LoadGen.Tests;

public sealed class ServerUrlTests
{
    [Theory]
    [InlineData("http://127.0.0.1:8000", "http://127.0.0.1:8000/")]
    [InlineData("http://127.0.0.1:8000/", "http://127.0.0.1:8000/")]
    [InlineData("http://127.0.0.1:8000/v1", "http://127.0.0.1:8000/")]
    [InlineData("https://host/api/v1/", "https://host/api/")]
    public void Parse_ValidUrl_ReturnsRootWithoutV1(string text, string expected) =>
        Assert.Equal(expected, ServerUrl.Parse(text).ToString());

    [Theory]
    [InlineData("localhost:8000")]
    [InlineData("ftp://host/")]
    [InlineData("not a url")]
    [InlineData("http://host/?q=1")]
    public void Parse_MalformedUrl_ThrowsArgumentException(string text) =>
        Assert.Throws<ArgumentException>(() => ServerUrl.Parse(text));
}
