fn main() {
    println!("offboard");
}
