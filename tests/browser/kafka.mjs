// Producing test records to the stack's broker (kafkajs, pinned in package.json): the browser
// checks use it to put a condition record on `<prefix>.conditions` as the wear processor would.
import kafkajs from 'kafkajs';

const { Kafka, logLevel, Partitioners } = kafkajs;

/**
 * Connects a producer to `brokers` ("host:port[,host:port]"). Returns { send(topic, key, value),
 * close() }; `send` resolves once the broker has acknowledged the record (acks = all).
 */
export async function connectProducer(brokers, { timeoutMs = 10_000 } = {}) {
  const kafka = new Kafka({
    clientId: 'pavewatch-browser-tests',
    brokers: brokers.split(',').map((s) => s.trim()).filter(Boolean),
    connectionTimeout: timeoutMs,
    requestTimeout: timeoutMs,
    retry: { retries: 3 },
    logLevel: logLevel.ERROR,
  });
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false });
  await producer.connect();
  return {
    async send(topic, key, value) {
      await producer.send({ topic, acks: -1, timeout: timeoutMs, messages: [{ key, value: typeof value === 'string' ? value : JSON.stringify(value) }] });
    },
    async close() {
      await Promise.race([producer.disconnect(), new Promise((r) => setTimeout(r, 3000))]);
    },
  };
}

/** A condition index in the middle of a class's PCI band (ASTM D6433), for producing a class. */
export const INDEX_OF_CLASS = {
  good: 93,
  satisfactory: 78,
  fair: 63,
  poor: 48,
  very_poor: 33,
  serious: 18,
  failed: 5,
};
