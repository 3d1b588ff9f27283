#include "pavewatch/kafka/kafka.hpp"

#include <librdkafka/rdkafka.h>

#include <cstring>
#include <mutex>

namespace pavewatch::kafka {

/// What both client kinds keep for librdkafka's callbacks (the conf's opaque points at it).
struct CallbackTarget {
    std::function<void(int, std::string_view, std::string_view)> log;
};

namespace {

void OnLog(const rd_kafka_t* rk, int level, const char* facility, const char* message) {
    const auto* target = static_cast<const CallbackTarget*>(rd_kafka_opaque(rk));
    if (target != nullptr && target->log) {
        target->log(level, facility != nullptr ? facility : "", message != nullptr ? message : "");
    }
}

void RouteLogs(rd_kafka_conf_t* conf, const ClientConfig& config) {
    if (config.log) {
        rd_kafka_conf_set_log_cb(conf, &OnLog);
    }
}

}  // namespace

namespace {

KafkaError FromCode(rd_kafka_resp_err_t err, std::string message = {}) {
    KafkaError e;
    e.code = static_cast<int>(err);
    e.name = rd_kafka_err2name(err);
    e.message = message.empty() ? rd_kafka_err2str(err) : std::move(message);
    e.retriable =
        err == RD_KAFKA_RESP_ERR__TIMED_OUT || err == RD_KAFKA_RESP_ERR__QUEUE_FULL ||
        err == RD_KAFKA_RESP_ERR__TRANSPORT || err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN ||
        err == RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT || err == RD_KAFKA_RESP_ERR_NOT_COORDINATOR ||
        err == RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE ||
        err == RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS;
    return e;
}

/// Converts and frees an rd_kafka_error_t (nullptr means success).
tl::expected<void, KafkaError> Consume(rd_kafka_error_t* error) {
    if (error == nullptr) {
        return {};
    }
    KafkaError e;
    e.code = static_cast<int>(rd_kafka_error_code(error));
    e.name = rd_kafka_error_name(error);
    e.message = rd_kafka_error_string(error);
    e.retriable = rd_kafka_error_is_retriable(error) != 0;
    e.fatal = rd_kafka_error_is_fatal(error) != 0;
    e.txn_requires_abort = rd_kafka_error_txn_requires_abort(error) != 0;
    rd_kafka_error_destroy(error);
    return tl::unexpected(std::move(e));
}

int Ms(std::chrono::milliseconds d) {
    return static_cast<int>(d.count());
}

struct ConfDeleter {
    void operator()(rd_kafka_conf_t* c) const { rd_kafka_conf_destroy(c); }
};
using ConfPtr = std::unique_ptr<rd_kafka_conf_t, ConfDeleter>;

struct ListDeleter {
    void operator()(rd_kafka_topic_partition_list_t* l) const {
        rd_kafka_topic_partition_list_destroy(l);
    }
};
using ListPtr = std::unique_ptr<rd_kafka_topic_partition_list_t, ListDeleter>;

tl::expected<void, KafkaError>
Set(rd_kafka_conf_t* conf, const std::string& key, const std::string& value) {
    char errstr[512];
    if (rd_kafka_conf_set(conf, key.c_str(), value.c_str(), errstr, sizeof(errstr)) !=
        RD_KAFKA_CONF_OK) {
        return tl::unexpected(FromCode(
            RD_KAFKA_RESP_ERR__INVALID_ARG,
            "configuration property " + key + "=" + value + ": " + errstr
        ));
    }
    return {};
}

tl::expected<ConfPtr, KafkaError> BaseConf(const ClientConfig& config) {
    ConfPtr conf(rd_kafka_conf_new());
    for (const auto& [k, v] : std::map<std::string, std::string>{
             {"bootstrap.servers", config.brokers}, {"client.id", config.client_id}}) {
        if (auto ok = Set(conf.get(), k, v); !ok) {
            return tl::unexpected(ok.error());
        }
    }
    for (const auto& [k, v] : config.properties) {
        if (auto ok = Set(conf.get(), k, v); !ok) {
            return tl::unexpected(ok.error());
        }
    }
    return conf;
}

ListPtr ToList(const std::vector<TopicPartitionOffset>& offsets) {
    ListPtr list(rd_kafka_topic_partition_list_new(static_cast<int>(offsets.size())));
    for (const auto& o : offsets) {
        rd_kafka_topic_partition_list_add(list.get(), o.topic.c_str(), o.partition)->offset =
            o.offset;
    }
    return list;
}

ListPtr ToList(const std::vector<TopicPartition>& partitions) {
    ListPtr list(rd_kafka_topic_partition_list_new(static_cast<int>(partitions.size())));
    for (const auto& p : partitions) {
        rd_kafka_topic_partition_list_add(list.get(), p.topic.c_str(), p.partition);
    }
    return list;
}

std::vector<TopicPartition> FromList(const rd_kafka_topic_partition_list_t* list) {
    std::vector<TopicPartition> out;
    out.reserve(static_cast<std::size_t>(list->cnt));
    for (int i = 0; i < list->cnt; ++i) {
        out.push_back({list->elems[i].topic, list->elems[i].partition});
    }
    return out;
}

std::vector<TopicPartitionOffset> OffsetsFromList(const rd_kafka_topic_partition_list_t* list) {
    std::vector<TopicPartitionOffset> out;
    out.reserve(static_cast<std::size_t>(list->cnt));
    for (int i = 0; i < list->cnt; ++i) {
        out.push_back({list->elems[i].topic, list->elems[i].partition, list->elems[i].offset});
    }
    return out;
}

/// A short-lived client handle for admin and metadata requests.
struct HandleDeleter {
    void operator()(rd_kafka_t* rk) const { rd_kafka_destroy(rk); }
};
using HandlePtr = std::unique_ptr<rd_kafka_t, HandleDeleter>;

/// A client handle with its log target; the handle is destroyed before the target.
struct AdminClient {
    std::unique_ptr<CallbackTarget> target;
    HandlePtr handle;
    rd_kafka_t* get() const { return handle.get(); }
};

tl::expected<AdminClient, KafkaError> AdminHandle(const ClientConfig& config) {
    auto conf = BaseConf(config);
    if (!conf) {
        return tl::unexpected(conf.error());
    }
    AdminClient client;
    client.target = std::make_unique<CallbackTarget>();
    client.target->log = config.log;
    rd_kafka_conf_set_opaque(conf->get(), client.target.get());
    RouteLogs(conf->get(), config);
    char errstr[512];
    rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf->get(), errstr, sizeof(errstr));
    if (rk == nullptr) {
        return tl::unexpected(FromCode(RD_KAFKA_RESP_ERR__INVALID_ARG, errstr));
    }
    (void)conf->release();  // owned by rk now
    client.handle.reset(rk);
    return client;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Admin

tl::expected<void, KafkaError> EnsureTopics(
    const ClientConfig& config,
    const std::vector<TopicSpec>& topics,
    std::chrono::milliseconds timeout
) {
    auto rk = AdminHandle(config);
    if (!rk) {
        return tl::unexpected(rk.error());
    }
    std::vector<rd_kafka_NewTopic_t*> new_topics;
    const auto free_topics = [&] {
        for (auto* t : new_topics) {
            rd_kafka_NewTopic_destroy(t);
        }
    };
    char errstr[512];
    for (const auto& spec : topics) {
        rd_kafka_NewTopic_t* t = rd_kafka_NewTopic_new(
            spec.name.c_str(), spec.partitions, spec.replication_factor, errstr, sizeof(errstr)
        );
        if (t == nullptr) {
            free_topics();
            return tl::unexpected(
                FromCode(RD_KAFKA_RESP_ERR__INVALID_ARG, spec.name + ": " + errstr)
            );
        }
        for (const auto& [k, v] : spec.configs) {
            rd_kafka_NewTopic_set_config(t, k.c_str(), v.c_str());
        }
        new_topics.push_back(t);
    }
    rd_kafka_queue_t* queue = rd_kafka_queue_new(rk->get());
    rd_kafka_AdminOptions_t* options =
        rd_kafka_AdminOptions_new(rk->get(), RD_KAFKA_ADMIN_OP_CREATETOPICS);
    rd_kafka_AdminOptions_set_operation_timeout(options, Ms(timeout), errstr, sizeof(errstr));
    rd_kafka_AdminOptions_set_request_timeout(options, Ms(timeout), errstr, sizeof(errstr));
    rd_kafka_CreateTopics(rk->get(), new_topics.data(), new_topics.size(), options, queue);
    rd_kafka_event_t* event = rd_kafka_queue_poll(queue, Ms(timeout) + 1000);
    tl::expected<void, KafkaError> result;
    if (event == nullptr) {
        result = tl::unexpected(
            FromCode(RD_KAFKA_RESP_ERR__TIMED_OUT, "no answer to CreateTopics; is the broker up?")
        );
    } else if (rd_kafka_event_error(event) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        result =
            tl::unexpected(FromCode(rd_kafka_event_error(event), rd_kafka_event_error_string(event))
            );
    } else {
        const rd_kafka_CreateTopics_result_t* r = rd_kafka_event_CreateTopics_result(event);
        size_t n = 0;
        const rd_kafka_topic_result_t** results = rd_kafka_CreateTopics_result_topics(r, &n);
        for (size_t i = 0; i < n; ++i) {
            const auto err = rd_kafka_topic_result_error(results[i]);
            if (err != RD_KAFKA_RESP_ERR_NO_ERROR &&
                err != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
                const char* msg = rd_kafka_topic_result_error_string(results[i]);
                result = tl::unexpected(FromCode(
                    err,
                    std::string(rd_kafka_topic_result_name(results[i])) + ": " + (msg ? msg : "")
                ));
                break;
            }
        }
    }
    if (event != nullptr) {
        rd_kafka_event_destroy(event);
    }
    rd_kafka_AdminOptions_destroy(options);
    rd_kafka_queue_destroy(queue);
    free_topics();
    return result;
}

tl::expected<int, KafkaError> PartitionCount(
    const ClientConfig& config,
    const std::string& topic,
    std::chrono::milliseconds timeout
) {
    auto rk = AdminHandle(config);
    if (!rk) {
        return tl::unexpected(rk.error());
    }
    rd_kafka_topic_t* t = rd_kafka_topic_new(rk->get(), topic.c_str(), nullptr);
    const rd_kafka_metadata_t* md = nullptr;
    const auto err = rd_kafka_metadata(rk->get(), 0, t, &md, Ms(timeout));
    rd_kafka_topic_destroy(t);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        return tl::unexpected(FromCode(err));
    }
    int count = -1;
    if (md->topic_cnt == 1 && md->topics[0].err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        count = md->topics[0].partition_cnt;
    }
    const auto topic_err =
        md->topic_cnt == 1 ? md->topics[0].err : RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART;
    rd_kafka_metadata_destroy(md);
    if (count < 0) {
        return tl::unexpected(
            FromCode(topic_err, "topic " + topic + ": " + rd_kafka_err2str(topic_err))
        );
    }
    return count;
}

// ---------------------------------------------------------------------------------------------
// Producer

struct Producer::Impl : CallbackTarget {
    // Owns raw librdkafka handles: never copied or moved (held by unique_ptr).
    Impl() = default;
    Impl(const Impl&) = delete;
    Impl& operator=(const Impl&) = delete;
    Impl(Impl&&) = delete;
    Impl& operator=(Impl&&) = delete;

    rd_kafka_t* rk = nullptr;
    ProducerOptions options;
    /// Topic handles by name, made on first use: producing by name would make (and free) one
    /// per record, under the client's topic lock, and copy the name into a std::string first.
    /// A service produces to a handful of topics, so a vector searched in order is the map.
    /// Produce() may be called from several threads (librdkafka's produce is thread-safe), so
    /// the handles are looked up under a lock: uncontended, it costs far less than the
    /// per-record handle it spares.
    std::mutex topics_mutex;
    std::vector<std::pair<std::string, rd_kafka_topic_t*>> topics;
    std::size_t last_topic = 0;  ///< index in `topics` of the last topic produced to

    ~Impl() {
        if (rk != nullptr) {
            // Documented teardown: flush (bounded), release the topic handles, then destroy.
            rd_kafka_flush(rk, 5000);
            for (auto& [name, handle] : topics) {
                rd_kafka_topic_destroy(handle);
            }
            rd_kafka_destroy(rk);
        }
    }

    /// The handle of `name`; nullptr if librdkafka refuses the name (rd_kafka_last_error()
    /// says why).
    rd_kafka_topic_t* Topic(std::string_view name) {
        const std::lock_guard lock(topics_mutex);
        if (last_topic < topics.size() && topics[last_topic].first == name) {
            return topics[last_topic].second;
        }
        for (std::size_t i = 0; i < topics.size(); ++i) {
            if (topics[i].first == name) {
                last_topic = i;
                return topics[i].second;
            }
        }
        std::string owned(name);
        rd_kafka_topic_t* handle = rd_kafka_topic_new(rk, owned.c_str(), nullptr);
        if (handle == nullptr) {
            return nullptr;
        }
        topics.emplace_back(std::move(owned), handle);
        last_topic = topics.size() - 1;
        return handle;
    }

    static void OnDelivery(rd_kafka_t* /*rk*/, const rd_kafka_message_t* msg, void* opaque) {
        auto* self = static_cast<Impl*>(static_cast<CallbackTarget*>(opaque));
        const char* topic = msg->rkt != nullptr ? rd_kafka_topic_name(msg->rkt) : "";
        if (msg->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
            if (self->options.on_delivery_failure) {
                self->options.on_delivery_failure(
                    FromCode(msg->err, rd_kafka_message_errstr(msg)), topic
                );
            }
        } else if (self->options.on_delivered) {
            self->options.on_delivered(topic, msg->partition, msg->offset);
        }
    }
};

Producer::Producer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Producer::~Producer() = default;
Producer::Producer(Producer&&) noexcept = default;
Producer& Producer::operator=(Producer&&) noexcept = default;

tl::expected<Producer, KafkaError>
Producer::Create(const ClientConfig& config, const ProducerOptions& options) {
    auto conf = BaseConf(config);
    if (!conf) {
        return tl::unexpected(conf.error());
    }
    auto impl = std::make_unique<Impl>();
    impl->options = options;
    std::map<std::string, std::string> settings{
        {"enable.idempotence", "true"},
        {"partitioner", "murmur2_random"},
        {"linger.ms", std::to_string(options.linger.count())},
        {"queue.buffering.max.messages", std::to_string(options.max_queue_messages)},
        {"queue.buffering.max.kbytes", "1048576"},
    };
    if (!options.transactional_id.empty()) {
        settings["transactional.id"] = options.transactional_id;
        settings["transaction.timeout.ms"] = std::to_string(options.transaction_timeout.count());
    }
    for (const auto& [k, v] : settings) {
        if (config.properties.contains(k)) {
            continue;  // the operator's explicit setting wins
        }
        if (auto ok = Set(conf->get(), k, v); !ok) {
            return tl::unexpected(ok.error());
        }
    }
    impl->log = config.log;
    rd_kafka_conf_set_opaque(conf->get(), static_cast<CallbackTarget*>(impl.get()));
    RouteLogs(conf->get(), config);
    rd_kafka_conf_set_dr_msg_cb(conf->get(), &Impl::OnDelivery);
    char errstr[512];
    impl->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf->get(), errstr, sizeof(errstr));
    if (impl->rk == nullptr) {
        return tl::unexpected(FromCode(RD_KAFKA_RESP_ERR__INVALID_ARG, errstr));
    }
    (void)conf->release();
    return Producer(std::move(impl));
}

tl::expected<void, KafkaError> Producer::Produce(
    std::string_view topic,
    std::string_view key,
    std::string_view value,
    const std::vector<Header>& headers,
    std::int32_t partition
) {
    rd_kafka_headers_t* hdrs = nullptr;
    if (!headers.empty()) {
        hdrs = rd_kafka_headers_new(headers.size());
        for (const auto& h : headers) {
            rd_kafka_header_add(
                hdrs,
                h.name.data(),
                static_cast<ssize_t>(h.name.size()),
                h.value.data(),
                static_cast<ssize_t>(h.value.size())
            );
        }
    }
    rd_kafka_topic_t* handle = impl_->Topic(topic);
    if (handle == nullptr) {
        if (hdrs != nullptr) {
            rd_kafka_headers_destroy(hdrs);
        }
        return tl::unexpected(
            FromCode(rd_kafka_last_error(), "cannot use topic " + std::string(topic))
        );
    }
    const rd_kafka_resp_err_t err = rd_kafka_producev(
        impl_->rk,
        RD_KAFKA_V_RKT(handle),
        RD_KAFKA_V_PARTITION(partition < 0 ? RD_KAFKA_PARTITION_UA : partition),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_KEY(const_cast<char*>(key.data()), key.size()),  // NOLINT: copied (F_COPY)
        RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
        RD_KAFKA_V_HEADERS(hdrs),
        RD_KAFKA_V_END
    );
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        if (hdrs != nullptr) {
            rd_kafka_headers_destroy(hdrs);  // not taken over on failure
        }
        return tl::unexpected(FromCode(err));
    }
    return {};
}

tl::expected<void, KafkaError> Producer::ProduceWaiting(
    std::string_view topic,
    std::string_view key,
    std::string_view value,
    std::chrono::milliseconds wait,
    std::chrono::milliseconds give_up_after
) {
    const auto deadline = std::chrono::steady_clock::now() + give_up_after;
    for (;;) {
        auto r = Produce(topic, key, value);
        if (r || !r.error().retriable || std::chrono::steady_clock::now() >= deadline) {
            return r;
        }
        Poll(wait);
    }
}

int Producer::Poll(std::chrono::milliseconds timeout) {
    return rd_kafka_poll(impl_->rk, Ms(timeout));
}

tl::expected<void, KafkaError> Producer::Flush(std::chrono::milliseconds timeout) {
    const auto err = rd_kafka_flush(impl_->rk, Ms(timeout));
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        return tl::unexpected(FromCode(err, "records still queued after the flush deadline"));
    }
    return {};
}

int Producer::QueueDepth() const {
    return rd_kafka_outq_len(impl_->rk);
}

tl::expected<void, KafkaError> Producer::InitTransactions(std::chrono::milliseconds timeout) {
    return Consume(rd_kafka_init_transactions(impl_->rk, Ms(timeout)));
}
tl::expected<void, KafkaError> Producer::BeginTransaction() {
    return Consume(rd_kafka_begin_transaction(impl_->rk));
}
tl::expected<void, KafkaError> Producer::SendOffsetsToTransaction(
    const Consumer& consumer,
    const std::vector<TopicPartitionOffset>& offsets,
    std::chrono::milliseconds timeout
) {
    rd_kafka_consumer_group_metadata_t* cgmd =
        rd_kafka_consumer_group_metadata(static_cast<rd_kafka_t*>(consumer.NativeHandle()));
    if (cgmd == nullptr) {
        return tl::unexpected(
            FromCode(RD_KAFKA_RESP_ERR__STATE, "the consumer has no group metadata")
        );
    }
    const ListPtr list = ToList(offsets);
    auto result =
        Consume(rd_kafka_send_offsets_to_transaction(impl_->rk, list.get(), cgmd, Ms(timeout)));
    rd_kafka_consumer_group_metadata_destroy(cgmd);
    return result;
}
tl::expected<void, KafkaError> Producer::CommitTransaction(std::chrono::milliseconds timeout) {
    return Consume(rd_kafka_commit_transaction(impl_->rk, Ms(timeout)));
}
tl::expected<void, KafkaError> Producer::AbortTransaction(std::chrono::milliseconds timeout) {
    return Consume(rd_kafka_abort_transaction(impl_->rk, Ms(timeout)));
}

std::optional<KafkaError> Producer::FatalError() const {
    char errstr[512];
    const auto err = rd_kafka_fatal_error(impl_->rk, errstr, sizeof(errstr));
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        return std::nullopt;
    }
    KafkaError e = FromCode(err, errstr);
    e.fatal = true;
    return e;
}

// ---------------------------------------------------------------------------------------------
// Consumer

struct Consumer::Impl : CallbackTarget {
    // Owns raw librdkafka handles: never copied or moved (held by unique_ptr).
    Impl() = default;
    Impl(const Impl&) = delete;
    Impl& operator=(const Impl&) = delete;
    Impl(Impl&&) = delete;
    Impl& operator=(Impl&&) = delete;

    rd_kafka_t* rk = nullptr;
    rd_kafka_message_t* current = nullptr;  ///< the record the last Poll returned
    ConsumerOptions options;
    bool closed = false;

    void ReleaseCurrent() {
        if (current != nullptr) {
            rd_kafka_message_destroy(current);
            current = nullptr;
        }
    }

    ~Impl() {
        ReleaseCurrent();  // messages must not outlive their handle
        if (rk != nullptr) {
            if (!closed && !options.group_id.empty()) {
                rd_kafka_consumer_close(rk);
            }
            rd_kafka_destroy(rk);
        }
    }

    static void OnRebalance(
        rd_kafka_t* rk,
        rd_kafka_resp_err_t err,
        rd_kafka_topic_partition_list_t* partitions,
        void* opaque
    ) {
        auto* self = static_cast<Impl*>(static_cast<CallbackTarget*>(opaque));
        const bool cooperative = std::strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
        if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
            if (cooperative) {
                (void)Consume(rd_kafka_incremental_assign(rk, partitions));
            } else {
                rd_kafka_assign(rk, partitions);
            }
            if (self->options.rebalance.on_assigned) {
                self->options.rebalance.on_assigned(FromList(partitions));
            }
        } else {
            if (self->options.rebalance.on_revoked) {
                self->options.rebalance.on_revoked(
                    FromList(partitions), rd_kafka_assignment_lost(rk) != 0
                );
            }
            if (cooperative) {
                (void)Consume(rd_kafka_incremental_unassign(rk, partitions));
            } else {
                rd_kafka_assign(rk, nullptr);
            }
        }
    }
};

Consumer::Consumer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Consumer::~Consumer() = default;
Consumer::Consumer(Consumer&&) noexcept = default;
Consumer& Consumer::operator=(Consumer&&) noexcept = default;

tl::expected<Consumer, KafkaError>
Consumer::Create(const ClientConfig& config, const ConsumerOptions& options) {
    auto conf = BaseConf(config);
    if (!conf) {
        return tl::unexpected(conf.error());
    }
    auto impl = std::make_unique<Impl>();
    impl->options = options;
    std::map<std::string, std::string> settings{
        {"enable.auto.commit", "false"},
        {"enable.auto.offset.store", "false"},
        {"isolation.level", options.read_committed ? "read_committed" : "read_uncommitted"},
        {"auto.offset.reset", options.from_beginning ? "earliest" : "latest"},
        {"enable.partition.eof", options.report_partition_eof ? "true" : "false"},
    };
    if (!options.group_id.empty()) {
        settings["group.id"] = options.group_id;
        settings["partition.assignment.strategy"] = options.assignment_strategy;
        if (!options.group_instance_id.empty()) {
            settings["group.instance.id"] = options.group_instance_id;
        }
        settings["session.timeout.ms"] = std::to_string(options.session_timeout.count());
        settings["max.poll.interval.ms"] = std::to_string(options.max_poll_interval.count());
        settings["heartbeat.interval.ms"] =
            std::to_string(std::max<long>(100, options.session_timeout.count() / 5));
    } else {
        // librdkafka requires a group.id for the KafkaConsumer API even with assign(); a
        // unique one that never commits is harmless.
        settings["group.id"] = "pavewatch-standalone-" + config.client_id;
    }
    for (const auto& [k, v] : settings) {
        if (config.properties.contains(k)) {
            continue;
        }
        if (auto ok = Set(conf->get(), k, v); !ok) {
            return tl::unexpected(ok.error());
        }
    }
    impl->log = config.log;
    rd_kafka_conf_set_opaque(conf->get(), static_cast<CallbackTarget*>(impl.get()));
    RouteLogs(conf->get(), config);
    if (!options.group_id.empty()) {
        rd_kafka_conf_set_rebalance_cb(conf->get(), &Impl::OnRebalance);
    }
    char errstr[512];
    impl->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf->get(), errstr, sizeof(errstr));
    if (impl->rk == nullptr) {
        return tl::unexpected(FromCode(RD_KAFKA_RESP_ERR__INVALID_ARG, errstr));
    }
    (void)conf->release();
    rd_kafka_poll_set_consumer(impl->rk);
    return Consumer(std::move(impl));
}

tl::expected<void, KafkaError> Consumer::Subscribe(const std::vector<std::string>& topics) {
    ListPtr list(rd_kafka_topic_partition_list_new(static_cast<int>(topics.size())));
    for (const auto& t : topics) {
        rd_kafka_topic_partition_list_add(list.get(), t.c_str(), RD_KAFKA_PARTITION_UA);
    }
    const auto err = rd_kafka_subscribe(impl_->rk, list.get());
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        return tl::unexpected(FromCode(err));
    }
    return {};
}

tl::expected<void, KafkaError> Consumer::Assign(const std::vector<TopicPartitionOffset>& partitions
) {
    const ListPtr list = ToList(partitions);
    const auto err = rd_kafka_assign(impl_->rk, list.get());
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        return tl::unexpected(FromCode(err));
    }
    return {};
}

PollResult Consumer::Poll(std::chrono::milliseconds timeout) {
    impl_->ReleaseCurrent();
    PollResult result;
    rd_kafka_message_t* msg = rd_kafka_consumer_poll(impl_->rk, Ms(timeout));
    if (msg == nullptr) {
        result.status = PollStatus::kTimeout;
        return result;
    }
    impl_->current = msg;
    if (msg->rkt != nullptr) {
        result.record.topic = rd_kafka_topic_name(msg->rkt);
    }
    result.record.partition = msg->partition;
    result.record.offset = msg->offset;
    if (msg->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        result.status = PollStatus::kPartitionEof;
        return result;
    }
    if (msg->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        result.status = PollStatus::kError;
        result.error = FromCode(msg->err, rd_kafka_message_errstr(msg));
        if (msg->err == RD_KAFKA_RESP_ERR__FATAL) {
            result.error.fatal = true;
        }
        return result;
    }
    result.status = PollStatus::kRecord;
    result.record.key = std::string_view(static_cast<const char*>(msg->key), msg->key_len);
    result.record.value = std::string_view(static_cast<const char*>(msg->payload), msg->len);
    rd_kafka_timestamp_type_t type;
    result.record.timestamp_ms = rd_kafka_message_timestamp(msg, &type);
    return result;
}

std::optional<std::string_view> Consumer::CurrentHeader(std::string_view name) const {
    if (impl_->current == nullptr) {
        return std::nullopt;
    }
    rd_kafka_headers_t* hdrs = nullptr;
    if (rd_kafka_message_headers(impl_->current, &hdrs) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        return std::nullopt;
    }
    const void* value = nullptr;
    size_t size = 0;
    const std::string name_text(name);
    if (rd_kafka_header_get_last(hdrs, name_text.c_str(), &value, &size) !=
        RD_KAFKA_RESP_ERR_NO_ERROR) {
        return std::nullopt;
    }
    return std::string_view(static_cast<const char*>(value), size);
}

std::vector<TopicPartition> Consumer::Assignment() const {
    rd_kafka_topic_partition_list_t* list = nullptr;
    if (rd_kafka_assignment(impl_->rk, &list) != RD_KAFKA_RESP_ERR_NO_ERROR || list == nullptr) {
        return {};
    }
    const ListPtr owned(list);
    return FromList(list);
}

tl::expected<std::vector<TopicPartitionOffset>, KafkaError> Consumer::Committed(
    const std::vector<TopicPartition>& partitions,
    std::chrono::milliseconds timeout
) const {
    const ListPtr list = ToList(partitions);
    const auto err = rd_kafka_committed(impl_->rk, list.get(), Ms(timeout));
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        return tl::unexpected(FromCode(err));
    }
    for (int i = 0; i < list->cnt; ++i) {
        if (list->elems[i].err != RD_KAFKA_RESP_ERR_NO_ERROR) {
            return tl::unexpected(FromCode(list->elems[i].err));
        }
    }
    return OffsetsFromList(list.get());
}

std::vector<TopicPartitionOffset> Consumer::Positions(const std::vector<TopicPartition>& partitions
) const {
    const ListPtr list = ToList(partitions);
    rd_kafka_position(impl_->rk, list.get());
    return OffsetsFromList(list.get());
}

tl::expected<void, KafkaError> Consumer::Seek(
    const std::vector<TopicPartitionOffset>& offsets,
    std::chrono::milliseconds timeout
) {
    const ListPtr list = ToList(offsets);
    auto result = Consume(rd_kafka_seek_partitions(impl_->rk, list.get(), Ms(timeout)));
    if (!result) {
        return result;
    }
    for (int i = 0; i < list->cnt; ++i) {
        if (list->elems[i].err != RD_KAFKA_RESP_ERR_NO_ERROR) {
            return tl::unexpected(FromCode(list->elems[i].err));
        }
    }
    return {};
}

tl::expected<void, KafkaError> Consumer::Pause(const std::vector<TopicPartition>& partitions) {
    const ListPtr list = ToList(partitions);
    const auto err = rd_kafka_pause_partitions(impl_->rk, list.get());
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        return tl::unexpected(FromCode(err));
    }
    return {};
}

tl::expected<void, KafkaError> Consumer::Resume(const std::vector<TopicPartition>& partitions) {
    const ListPtr list = ToList(partitions);
    const auto err = rd_kafka_resume_partitions(impl_->rk, list.get());
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        return tl::unexpected(FromCode(err));
    }
    return {};
}

tl::expected<void, KafkaError> Consumer::Commit(const std::vector<TopicPartitionOffset>& offsets) {
    if (offsets.empty()) {
        return {};
    }
    const ListPtr list = ToList(offsets);
    const auto err = rd_kafka_commit(impl_->rk, list.get(), 0);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR && err != RD_KAFKA_RESP_ERR__NO_OFFSET) {
        return tl::unexpected(FromCode(err));
    }
    return {};
}

tl::expected<std::pair<std::int64_t, std::int64_t>, KafkaError> Consumer::QueryWatermarks(
    const TopicPartition& partition,
    std::chrono::milliseconds timeout
) const {
    std::int64_t low = 0;
    std::int64_t high = 0;
    const auto err = rd_kafka_query_watermark_offsets(
        impl_->rk, partition.topic.c_str(), partition.partition, &low, &high, Ms(timeout)
    );
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        return tl::unexpected(FromCode(err));
    }
    return std::pair{low, high};
}

std::optional<std::pair<std::int64_t, std::int64_t>> Consumer::CachedWatermarks(
    const TopicPartition& partition
) const {
    std::int64_t low = 0;
    std::int64_t high = 0;
    if (rd_kafka_get_watermark_offsets(
            impl_->rk, partition.topic.c_str(), partition.partition, &low, &high
        ) != RD_KAFKA_RESP_ERR_NO_ERROR ||
        high < 0) {
        return std::nullopt;
    }
    return std::pair{low, high};
}

std::map<TopicPartition, std::int64_t> Consumer::Lag() const {
    std::map<TopicPartition, std::int64_t> lag;
    const auto assignment = Assignment();
    const auto positions = Positions(assignment);
    for (const auto& p : positions) {
        std::int64_t low = 0;
        std::int64_t high = 0;
        if (rd_kafka_get_watermark_offsets(impl_->rk, p.topic.c_str(), p.partition, &low, &high) !=
                RD_KAFKA_RESP_ERR_NO_ERROR ||
            high < 0) {
            continue;
        }
        const std::int64_t position = p.offset >= 0 ? p.offset : low;
        lag[{p.topic, p.partition}] = std::max<std::int64_t>(0, high - position);
    }
    return lag;
}

void Consumer::Close() {
    if (impl_ == nullptr || impl_->closed) {
        return;
    }
    impl_->ReleaseCurrent();
    rd_kafka_consumer_close(impl_->rk);
    impl_->closed = true;
}

void* Consumer::NativeHandle() const {
    return impl_->rk;
}

}  // namespace pavewatch::kafka
