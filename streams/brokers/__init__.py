"""Local Kafka brokers for demos and tests: real Apache Kafka from Maven jars, and tansu."""
