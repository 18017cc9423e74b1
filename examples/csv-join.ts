// CSV join: total order amount per user name.
// users.csv: id,name   orders.csv: order_id,user_id,amount
// `switchyard run examples/csv-join.ts -- <users.csv> <orders.csv> <output dir>`
import type { Context } from '../src/mapreduce/index.js'

interface User {
  id: number
  name: string
}
interface Order {
  order_id: number
  user_id: number
  amount: number
}

export default async function csvJoin(sc: Context, args: string[]): Promise<void> {
  const [usersCsv, ordersCsv, output] = args
  if (usersCsv === undefined || ordersCsv === undefined || output === undefined) throw new Error('usage: csv-join <users.csv> <orders.csv> <output>')
  const users = sc.csv<User>(usersCsv, { types: { id: 'number' } }).map((u) => [u.id, u.name] as const)
  const orders = sc.csv<Order>(ordersCsv, { types: { order_id: 'number', user_id: 'number', amount: 'number' } }).map((o) => [o.user_id, o.amount] as const)
  await users
    .join(orders.reduceByKey((a, b) => a + b))
    .map(([, [name, total]]) => [name, total] as const)
    .reduceByKey((a, b) => a + b)
    .sortByKey()
    .map(([name, total]) => `${name},${total.toFixed(2)}`)
    .saveAsTextFile(output)
}
