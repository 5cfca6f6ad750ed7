// Every ledger event from the start (or after FROM), then each new one: position, type, stream.
const from = process.env.FROM ? `&from=${process.env.FROM}` : '';
const response = await fetch(`${process.env.API}/events/stream?frames=unnamed${from}`, {
  headers: { Authorization: `Bearer ${process.env.VIEW}` },
});
if (!response.ok) throw new Error(`${response.status}: ${await response.text()}`);
let rest = '';
for await (const chunk of response.body.pipeThrough(new TextDecoderStream())) {
  const lines = (rest + chunk).split('\n');
  rest = lines.pop();
  for (const line of lines.filter((text) => text.startsWith('data: '))) {
    const event = JSON.parse(line.slice('data: '.length));
    console.log(event.position, event.type, event.streamId);
  }
}
